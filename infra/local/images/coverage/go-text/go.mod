module example.com/strata/go-text

go 1.22

require golang.org/x/text v0.3.5
