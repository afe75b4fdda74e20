"""The privacy pages: `person` (one's own data, and the public notices), `staff` (HR's ARCO
queue, administrators' notices and retention rules)."""
