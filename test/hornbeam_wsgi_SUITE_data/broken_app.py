"""An application whose import fails: hornbeam:start/2 must say so."""
raise RuntimeError("this module refuses to import")
