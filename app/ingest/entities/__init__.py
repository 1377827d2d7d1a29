"""Entities: recognise the people, organisations and places an article names, and link them."""
