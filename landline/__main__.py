from landline.cli import main

main()
