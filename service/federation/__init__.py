"""Federation: upstream terminology servers for the code systems this server does not hold."""
