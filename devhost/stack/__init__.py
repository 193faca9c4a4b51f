"""Local stand-ins for the Azure services (python -m devhost stack up)."""
