"""The store's writer and reader of the previous release (schema revision 0001), frozen here so
a test can write a database exactly as that release did, upgrade it, and compare."""
