"""Staff use cases: the organisation, leave with stand-in cover, tasks handed down, scorecards and the pay rule."""
