print("kmsdash: under construction")
