"""First-principles data making for wannorb (GPAW -> wannierberri -> data/<El>/)."""
