// A small program that links an old golang.org/x/text, so the binary's embedded build info
// names a module with known advisories.
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse("en-US")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tag.String())
}
