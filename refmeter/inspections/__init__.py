"""Field inspections of points: what staff find on site."""
