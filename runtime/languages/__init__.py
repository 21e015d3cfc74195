"""Languages: which tags an interview may name, and the runtime's own phrases in each."""
