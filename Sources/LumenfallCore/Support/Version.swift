package let lumenfallFetchVersion = "0.1.0"
