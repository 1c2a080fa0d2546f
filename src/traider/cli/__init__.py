"""The `traider` command line."""
