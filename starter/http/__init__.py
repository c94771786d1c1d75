"""`duban serve`: the HTTP door. Every caller is a person of the directory, proved by a
personal token or the office's single sign-on; the acting unit and role come from the
directory (activities.authz), never from the request; routes call what the CLI calls."""
