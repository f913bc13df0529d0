"""One package per feature: each has its blueprint, routes and forms."""
