"""Discord implementations of the features' outbound ports."""
