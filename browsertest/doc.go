// Package browsertest drives the debug page of a running program
// (examples/debugpage) in headless Chromium, through chromedp: a module
// of its own, so that the library's users never download chromedp.
package browsertest
