print("sigv4")
