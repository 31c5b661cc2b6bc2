module github.com/ngrelay/ngrelay

go 1.26
