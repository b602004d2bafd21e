"""What every faplink process stands on: logging that masks personal data, child processes, TCP counters."""
