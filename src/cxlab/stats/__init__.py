"""Small statistical building blocks shared by the analyses."""
