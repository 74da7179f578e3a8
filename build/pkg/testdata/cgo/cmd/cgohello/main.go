package main

// int answer(void) { return 42; }
import "C"

import "os"

func main() { os.Exit(int(C.answer()) - 42) }
