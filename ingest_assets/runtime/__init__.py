"""What happens when an entity's asset runs."""
