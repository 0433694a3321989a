"""The membership records API: the only part of memberdesk that touches member data."""
