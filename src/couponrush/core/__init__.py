"""Pure rules of the service: ids, outcomes, wins, events, codes, the reconcile diff and the
ports the adapters implement. Nothing here does I/O or imports another room."""
