"""JobPing's Pulumi components: one `ComponentResource` per module, plus the stack settings."""
