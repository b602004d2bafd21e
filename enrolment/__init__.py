"""What central's fleet and the field engineer's provisioning agree on: bundles, fleet routes, keys."""
