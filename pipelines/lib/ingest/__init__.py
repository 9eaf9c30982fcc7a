"""Reading a census year: files, headers, the contract, warnings (raw.census_schools, audit)."""
