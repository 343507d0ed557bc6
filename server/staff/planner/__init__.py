"""staff/planner"""
