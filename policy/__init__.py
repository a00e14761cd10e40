"""JobPing's security rules (SECURITY.md) as plain functions, and the Pulumi policy pack."""
