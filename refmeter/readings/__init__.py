"""Daily frozen register readings of the reference meters, from the data-collection system."""
