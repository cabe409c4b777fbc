from couponrush.cli import main

main()
