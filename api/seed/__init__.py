"""The demo organisation behind `memberdesk seed`.

data holds the tables (employers, names, streets, rates, the README's five members), planner
decides what to create from them with one seeded random stream, and demo writes it.
"""
