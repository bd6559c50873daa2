"""Optional integrations with other libraries; each loads its library only when used."""
