from plateau.cli import main

main()
