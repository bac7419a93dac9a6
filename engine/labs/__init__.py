"""The labs that test the two papers' claims: one module per lab."""
