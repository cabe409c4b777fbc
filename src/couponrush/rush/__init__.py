"""`couponrush rush`: a many-client flash-sale load generator with a report."""
