"""What `flagdeck serve` runs in the background for issue 17: the scheduler of scheduled changes and ramps."""
