"""The second study's theory as measurable tools: adapter capacity and memorisation."""
