"""staff/desk"""
