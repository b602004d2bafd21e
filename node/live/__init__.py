"""The live-update hub at the post: its pages hear from their node, the node from central."""
