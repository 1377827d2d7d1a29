"""Network checks shared by whatever sends requests to addresses users give."""
