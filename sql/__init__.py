"""The shop's schema (numbered migrations), its runner and the seed-data generator."""
