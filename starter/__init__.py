"""What people use: the `duban` command line and the embedded development stack."""
