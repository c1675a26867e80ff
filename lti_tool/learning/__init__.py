"""Pure domain core: skill maps and mastery estimates, standard library only."""
