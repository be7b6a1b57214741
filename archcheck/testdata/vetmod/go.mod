module example.com/vetsample

go 1.26
