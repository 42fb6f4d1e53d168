"""Scriptable writes, scheduled changes and ramps (issue 17): patches applied to one flag, and the records of
schedules and ramps kept in the environment's repository in files Flipt does not read (`.flagdeck/`)."""
