package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// This file stands for a third-party SDK you cannot change: like many, it
// calls http.Get, i.e. http.DefaultClient. reqcache.Install caches it
// without touching its code.

// Forecast is the SDK's result type.
type Forecast struct {
	City    string  `json:"city"`
	TempC   float64 `json:"temp_c"`
	Summary string  `json:"summary"`
}

// GetForecast is the SDK's function.
func GetForecast(baseURL, city string) (*Forecast, error) {
	resp, err := http.Get(baseURL + "/forecast?city=" + url.QueryEscape(city))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("weather API: %s", resp.Status)
	}
	var f Forecast
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return nil, err
	}
	return &f, nil
}
