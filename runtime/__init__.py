"""What every faplink process stands on: logging that masks personal data, child processes, TCP
counters, an error's message in the terminal's language."""
