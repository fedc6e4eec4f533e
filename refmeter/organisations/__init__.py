"""Supply units, the people in them, their roles, and what each of them may see and do."""
